"""公共信用综合评价: evaluation models as configuration, runs on Polars or Spark (narwhals), current grades."""
