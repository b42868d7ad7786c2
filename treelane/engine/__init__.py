"""treelane."""
