"""Monitoring: indicators as configuration, monthly snapshots, data quality (重错码, 问题数据), dashboards and the monthly report."""
