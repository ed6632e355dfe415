"""Hazards and their closed loop (查改督销), 挂牌督办, escalation and 回头看 rechecks."""
