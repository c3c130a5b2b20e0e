"""Deterministic demo data: 紫荆路社区 (five compounds, 7,000+ residents) and 园丁街 in 桐本南路社区."""
