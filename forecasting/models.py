"""The pooled count models (filled in by the forecasting work)."""
