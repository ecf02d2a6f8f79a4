"""Reads a CSV with pyarrow's defaults and writes it as Parquet and Feather v2 with theirs.

    python csv_to_columnar.py IN_CSV OUT_PARQUET OUT_FEATHER

What a user with a CSV log and pyarrow does; no option is set, so the files carry pyarrow's
defaults (dictionary encoding, format 2.6, snappy; Feather v2 with LZ4).
"""

import sys

import pyarrow.csv as csv
import pyarrow.feather as feather
import pyarrow.parquet as pq

table = csv.read_csv(sys.argv[1])
pq.write_table(table, sys.argv[2])
feather.write_feather(table, sys.argv[3])
print(table.schema)
