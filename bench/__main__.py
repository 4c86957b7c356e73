"""Run every benchmark: python -m bench"""

from bench import check_latency

if __name__ == "__main__":
    check_latency.main()
