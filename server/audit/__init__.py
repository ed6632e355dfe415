"""The tamper-evident audit log (执法全过程记录): a hash chain over every enforcement step."""
