"""Operations: the workers and queues page and its pushed refresh (:mod:`.views`), what it shows
(:mod:`.overview`), and Prometheus metrics at ``/metrics`` (:mod:`.metrics`)."""
