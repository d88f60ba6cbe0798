#include "core/user_names.h"

#include <gtest/gtest.h>

#include <map>

namespace procwatch {
namespace {

struct FakeNss {
  std::map<uint32_t, std::string> users{{0, "root"}, {1000, "deploy"}};
  int calls = 0;
  UserNameCache::Lookup lookup() {
    return [this](uint32_t uid) -> std::optional<std::string> {
      ++calls;
      auto it = users.find(uid);
      if (it == users.end()) return std::nullopt;
      return it->second;
    };
  }
};

TEST(UserNameCache, LooksUpOncePerUid) {
  FakeNss nss;
  UserNameCache cache(16, nss.lookup());
  EXPECT_EQ(cache.name_or_number(1000), "deploy");
  EXPECT_EQ(cache.name_or_number(1000), "deploy");
  EXPECT_EQ(cache.find(0), "root");
  EXPECT_EQ(nss.calls, 2);
  EXPECT_EQ(cache.lookups(), 2u);
}

TEST(UserNameCache, CachesMissesUntilTheirTtl) {
  FakeNss nss;
  UserNameCache cache(16, nss.lookup(), std::chrono::seconds(3600));
  EXPECT_EQ(cache.find(4242), std::nullopt);
  EXPECT_EQ(cache.name_or_number(4242), "4242");
  EXPECT_EQ(nss.calls, 1) << "a miss must not ask NSS (which may block) again";

  UserNameCache no_ttl(16, nss.lookup(), std::chrono::seconds(0));
  nss.calls = 0;
  EXPECT_EQ(no_ttl.find(4242), std::nullopt);
  nss.users[4242] = "late";
  EXPECT_EQ(no_ttl.find(4242), "late") << "an expired miss is asked again";
  EXPECT_EQ(nss.calls, 2);
}

TEST(UserNameCache, IsBounded) {
  FakeNss nss;
  UserNameCache cache(3, nss.lookup());
  for (uint32_t uid = 5000; uid < 5100; ++uid) cache.find(uid);
  EXPECT_EQ(cache.size(), 3u);
  nss.calls = 0;
  cache.find(5099);  // newest kept
  EXPECT_EQ(nss.calls, 0);
  cache.find(5000);  // oldest evicted
  EXPECT_EQ(nss.calls, 1);
}

TEST(UserNameCache, SharedUsesTheSystemDatabase) {
  EXPECT_EQ(UserNameCache::shared().name_or_number(0), "root");
  EXPECT_EQ(system_user_name(0), "root");
}

}  // namespace
}  // namespace procwatch
