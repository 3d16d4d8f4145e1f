#include "worker/report/tensorboard.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/crc32c.h"
#include "flyp/tensorboard/event.pb.h"
#include "tests/testing/test_env.h"

namespace flyp::report {
namespace {

std::string OnlyEventFile(const std::string& dir) {
  std::string found;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) {
      EXPECT_TRUE(found.empty()) << "two event files";
      found = e.path().string();
    }
  }
  return found;
}

TEST(TensorBoardTest, RecordFramingIsTensorFlows) {
  // TFRecord: length (LE u64), masked CRC32C of the length bytes, data,
  // masked CRC32C of the data.
  const std::string rec = TensorBoardRecord("abc");
  ASSERT_EQ(rec.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(rec.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(rec[at + i])} << (8 * i);
    return v;
  };
  EXPECT_EQ(u32(8), MaskCrc32c(Crc32c(rec.data(), 8)));
  EXPECT_EQ(rec.substr(12, 3), "abc");
  EXPECT_EQ(u32(15), MaskCrc32c(Crc32c("abc")));
}

TEST(TensorBoardTest, ScalarsOfARunReadBack) {
  const std::string dir = testing::TempDir() + "/tb";
  {
    auto w = TensorBoardWriter::Open(dir);
    ASSERT_TRUE(w.ok()) << w.status();
    EvalEvent zs;
    zs.split = "id_test";
    zs.accuracy = 0.5;
    zs.stage = EvalStage::kZeroShot;
    (*w)->OnEval(zs);
    for (int64_t step : {10, 20}) {
      StepProgress p;
      p.step = step;
      p.loss = 3.0 / static_cast<double>(step);
      p.learning_rate = 1e-5 * static_cast<double>(step);
      p.logit_scale = 14.25;
      p.samples_per_second = 100;
      (*w)->OnStep(p);
    }
    EvalEvent fin = zs;
    fin.stage = EvalStage::kFinal;
    fin.accuracy = 0.75;
    (*w)->OnEval(fin);
    EvalEvent wise = zs;
    wise.stage = EvalStage::kWiseFt;
    wise.alpha = 0.3;
    wise.accuracy = 0.625;
    (*w)->OnEval(wise);
    EXPECT_TRUE((*w)->status().ok());
  }
  const std::string path = OnlyEventFile(dir);
  ASSERT_FALSE(path.empty());
  auto scalars = ReadTensorBoardScalars(path);
  ASSERT_TRUE(scalars.ok()) << scalars.status();
  ASSERT_EQ(scalars->size(), 1u + 2 * 4 + 1 + 1);
  auto at = [&](size_t i) { return (*scalars)[i]; };
  EXPECT_EQ(at(0).tag, "eval/zeroshot/id_test");
  EXPECT_EQ(at(0).step, 0);
  EXPECT_FLOAT_EQ(static_cast<float>(at(0).value), 0.5f);
  EXPECT_EQ(at(1).tag, "train/loss");
  EXPECT_EQ(at(1).step, 10);
  EXPECT_FLOAT_EQ(static_cast<float>(at(1).value), 0.3f);
  EXPECT_EQ(at(2).tag, "train/learning_rate");
  EXPECT_FLOAT_EQ(static_cast<float>(at(2).value), 1e-4f);
  EXPECT_EQ(at(3).tag, "train/logit_scale");
  EXPECT_EQ(at(4).tag, "train/samples_per_second");
  EXPECT_EQ(at(5).step, 20);
  EXPECT_EQ(at(9).tag, "eval/final/id_test");
  EXPECT_EQ(at(9).step, 20);  // at the last training step
  EXPECT_EQ(at(10).tag, "wiseft/id_test");
  EXPECT_EQ(at(10).step, 30);  // 100 * alpha
  EXPECT_GT(at(1).wall_time, 1.6e9);

  // A flipped byte is caught by the CRC and named with its offset.
  std::string bytes = testing::ReadFileOrDie(path);
  bytes[bytes.size() - 6] ^= 0x40;
  std::ofstream(path, std::ios::binary) << bytes;
  auto bad = ReadTensorBoardScalars(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(bad.status().message().find("bad data CRC at byte"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace flyp::report
