// FLOPs of a training step against hand computation and the figures the
// GPU benchmark has quoted since issue 9 (ViT-B-16: 35.13 + 5.96 GFLOPs
// forward per pair).
#include "worker/model/clip_flops.h"

#include <gtest/gtest.h>

#include "common/model_presets.h"
#include "worker/model/clip_architecture.h"

namespace flyp::model {
namespace {

ClipConfig Preset(const std::string& name) {
  auto arch = PresetArchitecture(name);
  EXPECT_TRUE(arch.ok()) << arch.status();
  auto config = ClipConfigFromArchitecture(*arch);
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(ClipFlops, SmallConfigByHand) {
  ClipConfig c;
  c.embed_dim = 4;
  c.vision = {8, 1, 2, 32};  // width 8, 1 layer, MLP 32
  c.patch_size = 2;
  c.image_size = 4;  // 2x2 = 4 patches + class token = 5 tokens
  c.text = {6, 2, 2, 24};
  c.context_length = 3;
  c.vocab_size = 10;
  const ClipFlops f = CountClipFlops(c);
  // image: patches 2·4·(3·4)·8 = 768; block n=5, d=8, m=32:
  //   8·5·64 = 2560, 4·25·8 = 800, 4·5·8·32 = 5120 -> 8480; proj 2·8·4 = 64.
  EXPECT_DOUBLE_EQ(f.image_forward, 768 + 8480 + 64);
  // text: 2 blocks n=3, d=6, m=24: 8·3·36 = 864, 4·9·6 = 216, 4·3·6·24 = 1728
  //   -> 2808 each; proj 2·6·4 = 48.
  EXPECT_DOUBLE_EQ(f.text_forward, 2 * 2808 + 48);
  EXPECT_DOUBLE_EQ(f.train_per_pair(), 3 * (9312 + 5664));
  EXPECT_DOUBLE_EQ(TextForwardFlops(c, 3), f.text_forward);
  // 2 positions: 8·2·36 = 576, 4·4·6 = 96, 4·2·6·24 = 1152 -> 1824 per block.
  EXPECT_DOUBLE_EQ(TextForwardFlops(c, 2), 2 * 1824 + 48);
}

TEST(ClipFlops, ViTB16MatchesTheGpuBenchmarksFigures) {
  const ClipFlops f = CountClipFlops(Preset("ViT-B-16"));
  EXPECT_NEAR(f.image_forward / 1e9, 35.13, 0.01);
  EXPECT_NEAR(f.text_forward / 1e9, 5.96, 0.01);
}

TEST(ClipFlops, ViTB32) {
  // 12 blocks of n=50, d=768, m=3072: 12·(8·50·768² + 4·2500·768 + 4·50·768·3072)
  // = 12·715,468,800; patches 2·49·3072·768; proj 2·768·512.
  const ClipFlops f = CountClipFlops(Preset("ViT-B-32"));
  EXPECT_DOUBLE_EQ(f.image_forward, 12.0 * 715468800 + 2.0 * 49 * 3072 * 768 + 2.0 * 768 * 512);
}

}  // namespace
}  // namespace flyp::model
