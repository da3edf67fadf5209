"""Summarizes soak samples (`secs pages rss` per line) and plots RSS against pages crawled."""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            secs, pages, rss = line.split()
            rows.append((float(secs), int(pages), int(rss)))
    return rows


def at_fraction(rows, fraction):
    total = rows[-1][1]
    for secs, pages, rss in rows:
        if pages >= total * fraction:
            return rss
    return rows[-1][2]


def slope(rows):
    """RSS growth per 100k pages after warm-up (the first 10 % of pages), least squares."""
    total = rows[-1][1]
    pts = [(p, r) for _, p, r in rows if p >= total * 0.1]
    if len(pts) < 2:
        return 0.0
    n = len(pts)
    mx = sum(p for p, _ in pts) / n
    my = sum(r for _, r in pts) / n
    var = sum((p - mx) ** 2 for p, _ in pts)
    return sum((p - mx) * (r - my) for p, r in pts) / var * 100_000 if var else 0.0


mib = 1024 * 1024
*inputs, png = sys.argv[1:]
plt.figure(figsize=(8, 4.5))
print("| run | pages | wall s | pages/s | RSS @10% MiB | @50% | @100% | peak | slope MiB/100k pages |")
print("|---|---|---|---|---|---|---|---|---|")
for path in inputs:
    rows = load(path)
    name = path.rsplit("soak-", 1)[-1].removesuffix(".tsv")
    secs, pages, _ = rows[-1]
    peak = max(r for _, _, r in rows)
    print(
        f"| {name} | {pages} | {secs:.0f} | {pages / secs:.0f} | {at_fraction(rows, 0.1) / mib:.1f} | "
        f"{at_fraction(rows, 0.5) / mib:.1f} | {at_fraction(rows, 1.0) / mib:.1f} | {peak / mib:.1f} | "
        f"{slope(rows) / mib:+.2f} |"
    )
    plt.plot([p for _, p, _ in rows], [r / mib for _, _, r in rows], label=name)
plt.xlabel("pages crawled")
plt.ylabel("RSS (MiB)")
plt.title("ucrawler soak: RSS against pages crawled")
plt.ylim(bottom=0)
plt.legend()
plt.grid(alpha=0.3)
plt.tight_layout()
plt.savefig(png, dpi=100)
print(f"\nplot: {png}")
