"""The 三违 register: per-person violation records across enterprises."""
