"""Leaders' statistics: indicators, drill-down, exports and the dashboard page."""
