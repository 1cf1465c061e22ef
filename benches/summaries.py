#!/usr/bin/env python3
"""Summary figures (issue #13), from the JSON lines `bench-extract --summary-out` writes.

    python3 benches/summaries.py SUMMARIES.jsonl [--truth ground-truth.json] [--misses N]

Prints, over every page of the file:
  * shape: the share of summaries of 35-80 words that end on a sentence (the target is
    >= 90% where the article allows), and the summaries outside it, by kind;
  * empty: pages whose text or og:description has words but that got no summary (target 0);
  * notices: summaries that read as a notice about the site (cookies, consent, newsletter
    sign-up, subscription walls, "enable JavaScript", ad blockers; target 0).
With --truth (the Zyte dev set's ground-truth.json, which holds each page's true article
text), also ROUGE-1 and ROUGE-2 F1 (unigram and bigram overlap, lowercase \\w+ tokens):
  * against the editor's description (the page's og:description, where it has 10 words or
    more): ours beside Lead-2, the first two sentences of the TRUE article text, the
    standard baseline; "keep at least Lead-2's ROUGE" means ours >= Lead-2 here;
  * against Lead-2 itself: how close our blurb is to the true opening of the story.
Sentences of the true text are split by a plain rule (terminal punctuation, closing quotes,
whitespace, then a capital or a digit), the same for every system. Standard library only.
"""

import argparse
import json
import re
import sys
from collections import Counter

MIN_WORDS, MAX_WORDS = 35, 80
# Notices about the site, in the languages the test pages come in: a summary that matches
# one is counted and printed for a person to judge (the extractor's own lists are in Rust;
# these are written apart from them, so the figure does not grade its own rules).
NOTICE_PATTERNS = [re.compile(p) for p in (
    r"\bcookies?\b", r"\bconsent to\b", r"\byour consent\b", r"\beinwilligung",
    r"(subscribe|sign up|signing up) (to|for) (our|the) newsletter", r"newsletter abonnieren",
    r"(enable|activate) javascript", r"javascript (aktivieren|einschalten)",
    r"\bad ?blocker\b", r"werbeblocker", r"\bsubscribe to (continue|read)",
)]
CLOSERS = "\"'”’»)]"
TERMINALS = ".!?…。"


def words(text):
    """Words as the summarizer counts them: split on spaces, and in scripts written without
    spaces (Chinese, Japanese, Thai, Hangul) two characters to a word."""
    dense = sum(1 for c in text if is_dense(c))
    return text.split() + [""] * (dense // 2)


def is_dense(c):
    o = ord(c)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xAC00 <= o <= 0xD7AF or 0x0E00 <= o <= 0x0E7F or 0xF900 <= o <= 0xFAFF)


def ends_sentence(text):
    t = text.rstrip().rstrip(CLOSERS)
    return bool(t) and t[-1] in TERMINALS


def sentences(text):
    parts = re.split(r"(?<=[.!?…])[\"'”’»)]*\s+(?=[\"“‘«(]?[A-ZÀ-ÖØ-Þ0-9])", text.strip())
    return [p.strip() for p in parts if p.strip()]


def lead(text, n=2):
    return " ".join(sentences(" ".join(text.split()))[:n])


def tokens(text):
    return re.findall(r"\w+", text.lower())


def rouge_f(candidate, reference, n):
    def grams(t):
        return Counter(tuple(t[i:i + n]) for i in range(len(t) - n + 1))
    c, r = grams(tokens(candidate)), grams(tokens(reference))
    overlap = sum((c & r).values())
    if not c or not r or not overlap:
        return 0.0
    p, rc = overlap / sum(c.values()), overlap / sum(r.values())
    return 2 * p * rc / (p + rc)


def shape_kind(summary):
    if not summary:
        return "empty"
    n = len(words(summary))
    if not ends_sentence(summary):
        return "does not end on a sentence"
    if n < MIN_WORDS:
        return "under 35 words"
    if n > MAX_WORDS:
        return "over 80 words"
    return "ok"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("summaries")
    ap.add_argument("--truth", help="ground-truth.json with each page's articleBody")
    ap.add_argument("--misses", type=int, default=0, help="print this many summaries of each kind of miss")
    a = ap.parse_args()
    rows = [json.loads(line) for line in open(a.summaries, encoding="utf-8") if line.strip()]
    if not rows:
        print("no summaries", file=sys.stderr)
        return 1
    kinds = Counter()
    examples = {}
    empty, notices = [], []
    for r in rows:
        s = r.get("summary") or ""
        k = shape_kind(s)
        has_text = r.get("text_chars", 0) > 0 or bool((r.get("description") or "").strip())
        if k == "empty" and not has_text:
            k = "empty, and the page has no text"
        kinds[k] += 1
        examples.setdefault(k, []).append((r["id"], s))
        if k == "empty":
            empty.append(r["id"])
        low = s.lower()
        if any(p.search(low) for p in NOTICE_PATTERNS):
            notices.append((r["id"], s))
    ok = kinds["ok"]
    print(f"summaries {len(rows)}  35-80 words ending on a sentence {ok / len(rows) * 100:.1f}%  "
          f"empty {len(empty)}  notices {len(notices)}")
    print("  " + ", ".join(f"{k}: {v}" for k, v in kinds.most_common() if k != "ok"))
    for sid, s in notices:
        print(f"  notice? {sid[:16]}: {s[:150]!r}")
    if a.misses:
        for k, ex in examples.items():
            if k == "ok":
                continue
            print(f"\n{k}:")
            for sid, s in ex[: a.misses]:
                print(f"  {sid[:16]} [{len(words(s))}w] {s[:220]!r}")
    if a.truth:
        truth = json.load(open(a.truth, encoding="utf-8"))
        by_desc = {"ours": [[], []], "lead2": [[], []]}
        vs_lead = [[], []]
        for r in rows:
            t = truth.get(r["id"], {}).get("articleBody", "")
            if not t:
                continue
            ours = r.get("summary") or ""
            lead2 = lead(t)
            for i, n in enumerate((1, 2)):
                vs_lead[i].append(rouge_f(ours, lead2, n))
            desc = r.get("description") or ""
            if len(words(desc)) >= 10:
                for name, cand in (("ours", ours), ("lead2", lead2)):
                    for i, n in enumerate((1, 2)):
                        by_desc[name][i].append(rouge_f(cand, desc, n))
        mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
        pages = len(by_desc["ours"][0])
        print(f"ROUGE vs the editor's description ({pages} pages): ours R1 {mean(by_desc['ours'][0]):.3f} "
              f"R2 {mean(by_desc['ours'][1]):.3f}  Lead-2 of the true text R1 {mean(by_desc['lead2'][0]):.3f} "
              f"R2 {mean(by_desc['lead2'][1]):.3f}")
        print(f"ROUGE vs Lead-2 of the true text ({len(vs_lead[0])} pages): R1 {mean(vs_lead[0]):.3f} "
              f"R2 {mean(vs_lead[1]):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
