"""The enterprise registry (检查对象名录库) and declared conflicts of interest (回避)."""
