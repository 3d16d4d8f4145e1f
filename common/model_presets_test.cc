#include "common/model_presets.h"

#include <gtest/gtest.h>

namespace flyp {
namespace {

TEST(ModelPresetsTest, ViTB16Dimensions) {
  auto a = PresetArchitecture("ViT-B-16");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->embed_dim(), 512);
  EXPECT_EQ(a->vision().width(), 768);
  EXPECT_EQ(a->vision().patch_size(), 16);
  EXPECT_EQ(a->text().vocab_size(), 49408);
  EXPECT_EQ(a->activation(), v1::ACTIVATION_GELU);
  EXPECT_EQ(PresetArchitecture("ViT-B-16-quickgelu")->activation(), v1::ACTIVATION_QUICK_GELU);
  EXPECT_EQ(PresetArchitecture("ViT-L-14-336")->vision().image_size(), 336);
}

TEST(ModelPresetsTest, UnknownPresetIsNotFound) {
  EXPECT_EQ(PresetArchitecture("ViT-Q-99").status().code(), StatusCode::kNotFound);
}

TEST(ModelPresetsTest, OverridesApplyOnTopOfPreset) {
  v1::Architecture over;
  over.mutable_text()->set_vocab_size(514);
  auto a = ResolveArchitecture("tiny", over);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->text().vocab_size(), 514);
  EXPECT_EQ(a->text().width(), 64);  // untouched preset value
  auto custom = ResolveArchitecture("custom", over);
  ASSERT_TRUE(custom.ok());
  EXPECT_FALSE(custom->has_embed_dim());
}

}  // namespace
}  // namespace flyp
