"""Operations: health probes, Prometheus metrics."""
