"""What planners look at: the figures (pure functions of result tables), the HTML report and the live app."""
