"""Enforcement actions (执法措施), 法制审核 and the §113 closure counter."""
