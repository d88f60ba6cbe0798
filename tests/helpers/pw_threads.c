/* Thread-group workloads for tests/integration/test_threads.py (real kernel).
 *   pw_threads leader-exit CODE     main thread pthread_exits; a worker lives 1 s, exit(CODE)
 *   pw_threads thread-exec CHILD PROG [ARG...]
 *                                   forks CHILD (argv[2], run with no arguments, after 0.3 s)
 *                                   then a non-leader thread execs PROG ARG...
 *   pw_threads subreaper GRANDCHILD becomes a subreaper; its child forks a grandchild and exits;
 *                                   the orphan execs GRANDCHILD after 0.3 s; reaps everything
 * Prints nothing; exits 2 on misuse, 1 on a failed system call. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int code;
static char **exec_argv;

static void *worker_exit(void *arg) {
  (void)arg;
  usleep(1000 * 1000);
  exit(code); /* exit_group: this thread's status is the process's */
}

static void *worker_exec(void *arg) {
  (void)arg;
  execv(exec_argv[0], exec_argv);
  perror("execv");
  exit(1);
}

static pid_t spawn_after(const char *path, useconds_t delay) {
  pid_t pid = fork();
  if (pid == 0) {
    usleep(delay);
    execl(path, path, (char *)NULL);
    _exit(1);
  }
  return pid;
}

int main(int argc, char **argv) {
  pthread_t t;
  if (argc == 3 && strcmp(argv[1], "leader-exit") == 0) {
    code = atoi(argv[2]);
    if (pthread_create(&t, NULL, worker_exit, NULL) != 0) return 1;
    pthread_exit(NULL);
  }
  if (argc >= 4 && strcmp(argv[1], "thread-exec") == 0) {
    if (spawn_after(argv[2], 300 * 1000) < 0) return 1;
    exec_argv = argv + 3;
    if (pthread_create(&t, NULL, worker_exec, NULL) != 0) return 1;
    for (;;) pause(); /* de_thread kills this thread */
  }
  if (argc == 3 && strcmp(argv[1], "subreaper") == 0) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 1;
    pid_t mid = fork();
    if (mid < 0) return 1;
    if (mid == 0) {
      if (spawn_after(argv[2], 300 * 1000) < 0) _exit(1);
      _exit(0); /* orphans the grandchild: it goes to us, the subreaper */
    }
    int status, rc = 0;
    while (wait(&status) > 0)
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
    return rc;
  }
  fprintf(stderr, "usage: pw_threads leader-exit CODE | thread-exec CHILD PROG [ARG...] | "
                  "subreaper GRANDCHILD\n");
  return 2;
}
