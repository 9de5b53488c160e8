"""分级分类监管: supervision by grade: ratios and measures per grade, inspector rosters, plans, reproducible 双随机 draws, results, 诚信约谈."""
