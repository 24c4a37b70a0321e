"""DataFrame in, DataFrame out: speedups, recommendations, the why column, prices, Pareto fronts."""
