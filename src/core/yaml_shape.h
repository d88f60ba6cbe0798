// Bounds on a YAML file that an operator may have copied from the web (rule config, web
// config): one pass of yaml-cpp's event parser over at most two documents counts nesting,
// aliases and nodes, and where a second document starts. Header-only: include it where
// yaml-cpp is linked. (YAML::LoadAll can loop for ever on some binary input with yaml-cpp 0.7,
// so Parser::HandleNextDocument is called at most twice.)
#pragma once

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <string>

namespace procwatch {

inline constexpr size_t kYamlMaxBytes = 1 << 20;
inline constexpr int kYamlMaxDepth = 32;         // nested maps and lists
inline constexpr size_t kYamlMaxAliases = 64;    // *alias references (each may expand a subtree)
inline constexpr size_t kYamlMaxNodes = 200000;  // scalars, maps and lists in all

class YamlShape : public YAML::EventHandler {
 public:
  // Throws YAML::Exception on a syntax error, like YAML::Load.
  explicit YamlShape(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser events(in);
    if (events.HandleNextDocument(*this)) events.HandleNextDocument(*this);
  }

  int documents = 0;
  YAML::Mark second;      // where a second document starts
  bool too_much = false;  // a bound was passed: what, where
  YAML::Mark where;
  std::string what;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override {
    node(m);
    if (++aliases_ > kYamlMaxAliases && !too_much) fail(m, "more than 64 aliases (*name)");
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    open(m);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    open(m);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void fail(const YAML::Mark& m, std::string w) {
    too_much = true;
    where = m;
    what = std::move(w);
  }
  void node(const YAML::Mark& m) {
    if (++nodes_ > kYamlMaxNodes && !too_much) fail(m, "more than 200000 YAML nodes");
  }
  void open(const YAML::Mark& m) {
    node(m);
    if (++depth_ > kYamlMaxDepth && !too_much) fail(m, "nested deeper than 32 levels");
  }
  size_t aliases_ = 0, nodes_ = 0;
  int depth_ = 0;
};

}  // namespace procwatch
