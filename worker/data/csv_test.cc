#include "worker/data/csv.h"

#include <gtest/gtest.h>

namespace flyp::data {
namespace {

TEST(Csv, QuotesCommasNewlinesAndCrlf) {
  StatusOr<std::vector<CsvRow>> rows =
      ParseCsv("path,label\r\n\"a,b.png\", cat \r\n\n\"x\"\"y.jpg\",\"two\nlines\"\nlast.png,dog");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].fields, (std::vector<std::string>{"path", "label"}));
  EXPECT_EQ((*rows)[1].fields, (std::vector<std::string>{"a,b.png", "cat"}));
  EXPECT_EQ((*rows)[1].line, 2);
  EXPECT_EQ((*rows)[2].fields, (std::vector<std::string>{"x\"y.jpg", "two\nlines"}));
  EXPECT_EQ((*rows)[2].line, 4);
  EXPECT_EQ((*rows)[3].fields, (std::vector<std::string>{"last.png", "dog"}));
  EXPECT_EQ((*rows)[3].line, 6);
}

TEST(Csv, Errors) {
  StatusOr<std::vector<CsvRow>> r = ParseCsv("a,b\n\"open,c\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status();
  r = ParseCsv("\"a\"x,b\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("after a closing quote"), std::string::npos);
}

}  // namespace
}  // namespace flyp::data
