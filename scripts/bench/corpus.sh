#!/usr/bin/env bash
# Accuracy and false alarms of the built-in rules on the rules corpus
# (fixtures/corpus/), per split and per class, for BENCHMARKS.md.
# Judged as tests/suite/corpus.rs judges: one `classify --format json -` per
# corpus file, a line that misses there or matches several rules asked again
# alone, an item right when class (and the subject the corpus names) agree.
# CORPUS_BIN=path uses that binary instead of building the release one.
# CORPUS_MISSES=1 also lists every miss.
source "$(dirname "$0")/common.sh"
if [[ -n ${CORPUS_BIN:-} ]]; then
  BIN=$CORPUS_BIN
else
  build_release
fi
python3 - "$BIN" "$ROOT/fixtures/corpus" <<'PY'
import collections, concurrent.futures, glob, json, os, subprocess, sys

binary, corpus = sys.argv[1], sys.argv[2]

def classify(text):
    out = subprocess.run([binary, "classify", "--format", "json", "-"], input=text.encode(),
                         stdout=subprocess.PIPE, check=False).stdout
    return json.loads(out)

def failure(m):
    return m is not None and m.get("class") not in (None, "benign")

def verdict(m):
    return (m["class"], m.get("subject")) if failure(m) else (None, None)

def read_tsv(path):
    items = []
    for n, row in enumerate(open(path, encoding="utf-8"), 1):
        row = row.rstrip("\n")
        if not row.strip() or row.startswith("#"):
            continue
        cls, subj, tool, split, source, note, line = row.split("\t", 6)
        items.append(dict(origin=f"{os.path.basename(path)}:{n}", cls=cls,
                          subject=None if subj in ("-", "") else subj, split=split, text=line))
    return items

def read_excerpt(path):
    head, body = {}, []
    for line in open(path, encoding="utf-8").read().splitlines():
        if line.startswith("## ") and not body:
            k, v = line[3:].split(":", 1)
            head[k.strip()] = v.strip()
        else:
            body.append(line)
    subj = head.get("subject", "-")
    return dict(origin=os.path.basename(path), cls=head["class"],
                subject=None if subj in ("-", "") else subj, split=head["split"],
                text="\n".join(body) + "\n")

norm = lambda s: s.strip("\"'`").lower()

def meets(item, v):
    cls, subj = v
    if item["cls"] == "benign":
        return cls is None
    return cls == item["cls"] and (item["subject"] is None or (subj is not None and norm(subj) == norm(item["subject"])))

def judge_lines(items):
    """One run per file; a line that misses or matches several rules is asked again alone."""
    out = classify("".join(i["text"] + "\n" for i in items))
    by_line = collections.defaultdict(list)
    for m in out.get("matches", []):
        if failure(m):
            by_line[m["line"]].append(m)
    verdicts, again = [], []
    for n, item in enumerate(items, 1):
        ms = by_line.get(n, [])
        verdicts.append(verdict(ms[0] if ms else None))
        if len(ms) > 1 or not meets(item, verdicts[-1]):
            again.append(n - 1)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        alone = pool.map(lambda i: verdict(classify(items[i]["text"] + "\n")["primary"]), again)
        for i, v in zip(again, alone):
            verdicts[i] = v
    return verdicts
pairs = []
for path in sorted(glob.glob(os.path.join(corpus, "lines", "*.tsv"))):
    items = read_tsv(path)
    pairs += zip(items, judge_lines(items))
for path in sorted(glob.glob(os.path.join(corpus, "excerpts", "*.log"))):
    item = read_excerpt(path)
    pairs.append((item, verdict(classify(item["text"])["primary"])))

split_t = collections.defaultdict(lambda: [0, 0, 0, 0])   # right, errors, alarms, benign
class_t = collections.defaultdict(lambda: collections.Counter())
family_t = collections.defaultdict(lambda: collections.Counter())
misses = []
for item, (cls, subj) in pairs:
    t = split_t[item["split"]]
    c = class_t[item["cls"]]
    c[item["split"]] += 1
    fam = family_t[item["origin"].split(":")[0].rsplit(".", 1)[0] if ".tsv" in item["origin"] else "excerpts"]
    fam["benign" if item["cls"] == "benign" else "errors"] += 1
    if item["cls"] == "benign":
        t[3] += 1
        if cls is not None:
            t[2] += 1; c["wrong"] += 1; fam["alarms"] += 1
            misses.append(f'{item["origin"]} benign called {cls}')
        continue
    t[1] += 1
    ok = meets(item, (cls, subj))
    class_ok = cls == item["cls"]
    c["class_right"] += class_ok
    fam["right"] += ok
    if ok:
        t[0] += 1
    else:
        c["wrong"] += 1
        misses.append(f'{item["origin"]} want {item["cls"]}/{item["subject"]} got {cls}/{subj}')

print(f"corpus: {len(pairs)} items")
for split in sorted(split_t):
    r, e, a, b = split_t[split]
    print(f"{split:8} accuracy {r / max(e, 1):.3f} ({r}/{e})  false alarms {a / max(b, 1):.3f} ({a}/{b})")
print(f"\n{'class':22} {'tune':>5} {'hold':>5} {'wrong':>6} {'class ok':>9}")
for cls in sorted(class_t):
    c = class_t[cls]
    n = c["tune"] + c["holdout"]
    ok = "" if cls == "benign" else f'{c["class_right"]}/{n}'
    print(f'{cls:22} {c["tune"]:5} {c["holdout"]:5} {c["wrong"]:6} {ok:>9}')
print(f"\n{'family':22} {'errors':>6} {'right':>6} {'benign':>6} {'alarms':>6}")
for name in sorted(family_t):
    f = family_t[name]
    print(f'{name:22} {f["errors"]:6} {f["right"]:6} {f["benign"]:6} {f["alarms"]:6}')
if os.environ.get("CORPUS_MISSES"):
    print("\nmisses:")
    print("\n".join(misses))
PY
