"""Writes the same rows as Parquet and Arrow IPC files the ways pyarrow users do.

    python write_columnar.py OUT_DIR ROWS

OUT_DIR/expected.json holds the rows as written (timestamps as epoch milliseconds), and
OUT_DIR/files.json lists each file with how it was written. Values are a deterministic function
of the row number, with nulls, so every row group and page differs.
"""

import json
import sys

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

out, rows = sys.argv[1], int(sys.argv[2])


def col(fn):
    return [fn(i) for i in range(rows)]


data = {
    "label_i8": col(lambda i: (i * 7 + 3) % 5 // 3),
    "label_i32": col(lambda i: (i * 11) % 3 % 2),
    "label_i64": col(lambda i: (i // 3) % 2),
    "label_f64": col(lambda i: float(i % 4 == 1)),
    "label_bool": col(lambda i: i % 3 == 0),
    "d_f64": col(lambda i: None if i % 17 == 5 else (i % 101) * 0.25 - 3.5),
    "d_f32": col(lambda i: (i % 50) * 0.5),
    "d_i32": col(lambda i: None if i % 13 == 0 else (i * 31) % 1000 - 200),
    "d_i64": col(lambda i: (i * 1_000_003) % 9_999_991),
    "c_str": col(lambda i: None if i % 19 == 7 else f"site_{(i * 7) % 23:02d}"),
    "c_i64": col(lambda i: 10_000_000_000 + (i * 13) % 41),
    "c_i32": col(lambda i: None if i % 29 == 3 else (i * 5) % 37),
    "c_dict": col(lambda i: ["ios", "android", "web", None][i % 4]),
    "ts": col(lambda i: 1_700_000_000_000 + i * 60_000),
}
types = {
    "label_i8": pa.int8(),
    "label_i32": pa.int32(),
    "label_i64": pa.int64(),
    "label_f64": pa.float64(),
    "label_bool": pa.bool_(),
    "d_f64": pa.float64(),
    "d_f32": pa.float32(),
    "d_i32": pa.int32(),
    "d_i64": pa.int64(),
    "c_str": pa.string(),
    "c_i64": pa.int64(),
    "c_i32": pa.int32(),
    "c_dict": pa.dictionary(pa.int32(), pa.string()),
}
arrays = {k: pa.array(v, types[k]) for k, v in data.items() if k in types}
ts_ms = pa.array(data["ts"], pa.timestamp("ms"))
arrays["ts"] = ts_ms
arrays["ts_us"] = ts_ms.cast(pa.timestamp("us"))
arrays["ts_ns"] = ts_ms.cast(pa.timestamp("ns", tz="UTC"))
table = pa.table(arrays)
with open(f"{out}/expected.json", "w") as f:
    json.dump(data, f)

GROUP = max(1, rows // 3 + 1)  # several row groups / record batches
files = []


def parquet(name, **kw):
    pq.write_table(table, f"{out}/{name}", row_group_size=GROUP, **kw)
    files.append({"name": name, "format": "parquet", "how": repr(kw) if kw else "defaults"})


parquet("pyarrow-default.parquet")
parquet("pyarrow-page-v2.parquet", data_page_version="2.0", data_page_size=4096)
for codec in ["gzip", "zstd", "lz4", "brotli", "none"]:
    parquet(f"pyarrow-{codec}.parquet", compression=codec)
parquet("pyarrow-v1.parquet", version="1.0")
parquet(
    "pyarrow-delta.parquet",
    use_dictionary=False,
    data_page_version="2.0",
    column_encoding={
        "d_i32": "DELTA_BINARY_PACKED",
        "d_i64": "DELTA_BINARY_PACKED",
        "c_i64": "DELTA_BINARY_PACKED",
        "c_str": "DELTA_BYTE_ARRAY",
        "c_dict": "DELTA_LENGTH_BYTE_ARRAY",
        "d_f64": "BYTE_STREAM_SPLIT",
        "d_f32": "BYTE_STREAM_SPLIT",
    },
)
# What Spark writes by default: parquet-mr flavour names, INT96 timestamps, snappy.
parquet("spark-style.parquet", flavor="spark", use_deprecated_int96_timestamps=True)

feather.write_feather(table, f"{out}/feather-default.arrow", chunksize=GROUP)
files.append({"name": "feather-default.arrow", "format": "arrow", "how": "feather v2 (lz4)"})
# One record batch: its buffers exceed LZ4's 64 KB block, so frames have several linked blocks.
feather.write_feather(table, f"{out}/feather-one-batch.arrow", chunksize=rows)
files.append({"name": "feather-one-batch.arrow", "format": "arrow", "how": "lz4, one batch"})
for codec in ["zstd", "uncompressed"]:
    feather.write_feather(table, f"{out}/feather-{codec}.arrow", compression=codec, chunksize=GROUP)
    files.append({"name": f"feather-{codec}.arrow", "format": "arrow", "how": codec})
batches = table.to_batches(max_chunksize=GROUP)
for codec in ["lz4", "zstd"]:
    opts = ipc.IpcWriteOptions(compression=codec)
    with ipc.new_stream(f"{out}/stream-{codec}.arrows", table.schema, options=opts) as w:
        for b in batches:
            w.write_batch(b)
    files.append({"name": f"stream-{codec}.arrows", "format": "arrow", "how": f"stream {codec}"})

with open(f"{out}/files.json", "w") as f:
    json.dump(files, f)
print(pa.__version__, len(files), "files")
