"""Versioned checklist templates per sector (检查表), following the 重大事故隐患判定标准."""
