#include "worker/text/templates.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "tests/testing/test_env.h"

namespace flyp::text {
namespace {

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = flyp::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(Templates, OpenAiImageNetList) {
  const auto& t = OpenAiImageNetTemplates();
  ASSERT_EQ(t.size(), 80u);
  EXPECT_EQ(t.front(), "a bad photo of a {}.");
  EXPECT_EQ(t[1], "a photo of many {}.");
  EXPECT_EQ(t[35], "a {} in a video game.");
  EXPECT_EQ(t[39], "a photo of a {}.");
  EXPECT_EQ(t[59], "itap of the {}.");
  EXPECT_EQ(t.back(), "a tattoo of the {}.");
  EXPECT_EQ(std::set<std::string>(t.begin(), t.end()).size(), 80u);  // no duplicates
  for (const auto& s : t) {
    EXPECT_EQ(s.find("{}"), s.rfind("{}")) << s;
  }
}

TEST(Templates, LoadBuiltins) {
  flyp::v1::TemplateSpec spec;
  auto simple = LoadTemplates(spec);  // default
  ASSERT_TRUE(simple.ok()) << simple.status();
  EXPECT_EQ(*simple, std::vector<std::string>{"a photo of a {}."});
  spec.set_builtin("openai_imagenet");
  auto openai = LoadTemplates(spec);
  ASSERT_TRUE(openai.ok());
  EXPECT_EQ(openai->size(), 80u);
  spec.set_builtin("fancy");
  auto unknown = LoadTemplates(spec);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'fancy'"), std::string::npos);
}

TEST(Templates, LoadCustomListAndFile) {
  flyp::v1::TemplateSpec spec;
  spec.add_custom("a {} in the wild.");
  spec.add_custom("{}");
  auto list = LoadTemplates(spec);  // builtin unset: custom implied
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, (std::vector<std::string>{"a {} in the wild.", "{}"}));

  spec.add_custom("no placeholder");
  auto bad = LoadTemplates(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("templates.custom[2]"), std::string::npos);
  EXPECT_NE(bad.status().message().find("'no placeholder'"), std::string::npos);

  flyp::v1::TemplateSpec file_spec;
  file_spec.set_builtin("custom");
  file_spec.set_file(WriteFile("t.txt", "a photo of a {}.\r\nart of the {}.\n\n"));
  auto from_file = LoadTemplates(file_spec);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(*from_file, (std::vector<std::string>{"a photo of a {}.", "art of the {}."}));

  file_spec.set_file(WriteFile("t2.txt", "a photo of a {}.\n{} and {}\n"));
  auto two = LoadTemplates(file_spec);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("t2.txt:2"), std::string::npos) << two.status();
  EXPECT_NE(two.status().message().find("'{} and {}'"), std::string::npos);

  file_spec.set_file("/nonexistent/templates.txt");
  EXPECT_EQ(LoadTemplates(file_spec).status().code(), StatusCode::kNotFound);

  flyp::v1::TemplateSpec both;
  both.add_custom("{}");
  both.set_file("x");
  EXPECT_FALSE(LoadTemplates(both).ok());
  flyp::v1::TemplateSpec mixed;
  mixed.set_builtin("simple");
  mixed.add_custom("{}");
  EXPECT_FALSE(LoadTemplates(mixed).ok());
  flyp::v1::TemplateSpec custom_empty;
  custom_empty.set_builtin("custom");
  EXPECT_FALSE(LoadTemplates(custom_empty).ok());
}

TEST(Templates, Fill) {
  EXPECT_EQ(FillTemplate("a photo of a {}.", "ankle boot"), "a photo of a ankle boot.");
  EXPECT_EQ(FillTemplate("{}", "cat"), "cat");
  EXPECT_EQ(FillTemplate("no slot", "cat"), "no slot");
  EXPECT_EQ(FillTemplate(OpenAiImageNetTemplates().back(), "dog"), "a tattoo of the dog.");
}

TEST(ClassNames, LoadAndErrors) {
  auto names = LoadClassNames(WriteFile("c.txt", "T-shirt/top\nTrouser\r\nPullover\n\n"));
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover"}));

  auto blank = LoadClassNames(WriteFile("blank.txt", "cat\n\ndog\n"));
  ASSERT_FALSE(blank.ok());
  EXPECT_NE(blank.status().message().find("blank.txt:2"), std::string::npos) << blank.status();

  auto dup = LoadClassNames(WriteFile("dup.txt", "cat\ndog\ncat\n"));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("dup.txt:3"), std::string::npos) << dup.status();

  EXPECT_FALSE(LoadClassNames(WriteFile("empty.txt", "")).ok());
  EXPECT_EQ(LoadClassNames("/nonexistent/classes.txt").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace flyp::text
