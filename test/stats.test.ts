import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chiSquareQuantile, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from "../src/stats/distributions.ts";
import { differenceInterval, meanInterval, proportionInterval, sigmaInterval } from "../src/stats/intervals.ts";
import { createRandom, type Random } from "../src/stats/random.ts";

const close = (actual: number, expected: number, tolerance: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
};

describe("Student t and normal distributions", () => {
  it("match published quantile tables", () => {
    // Two-sided 95% and one-sided 95% critical values, from any statistics table.
    const table: Array<[number, number, number]> = [
      [0.975, 1, 12.7062047], [0.975, 2, 4.3026527], [0.975, 3, 3.1824463], [0.975, 5, 2.5705818],
      [0.975, 10, 2.2281389], [0.975, 30, 2.0422725], [0.95, 1, 6.3137515], [0.95, 4, 2.1318468],
      [0.95, 20, 1.7247182], [0.995, 3, 5.8409093], [0.9, 7, 1.4149239],
    ];
    for (const [p, df, expected] of table) close(studentTQuantile(p, df), expected, 1e-6, `t(${p}, ${df})`);
    close(normalQuantile(0.975), 1.959963985, 1e-9, "z(0.975)");
    close(normalQuantile(0.95), 1.644853627, 1e-9, "z(0.95)");
    close(normalCdf(-3), 0.0013498980316301, 1e-13, "Φ(-3)");
  });

  it("are inverse and symmetric, and t tends to the normal", () => {
    for (const df of [1, 2.5, 9, 120]) {
      for (const p of [0.01, 0.2, 0.5, 0.8, 0.999]) close(studentTCdf(studentTQuantile(p, df), df), p, 1e-9, `cdf(quantile(${p}), ${df})`);
      close(studentTQuantile(0.1, df), -studentTQuantile(0.9, df), 1e-9, `symmetry at ${df}`);
    }
    close(studentTQuantile(0.975, 1e6), normalQuantile(0.975), 1e-5, "t with a million degrees of freedom");
    assert.equal(studentTQuantile(0.975, Number.POSITIVE_INFINITY), normalQuantile(0.975));
  });

  it("chi-square quantiles match the tables, and a σ from one degree of freedom spans a factor of 70", () => {
    const table: Array<[number, number, number]> = [[0.975, 1, 5.0238862], [0.025, 1, 0.000982069], [0.975, 10, 20.4831774], [0.05, 4, 0.7107230]];
    for (const [p, df, expected] of table) close(chiSquareQuantile(p, df), expected, 1e-6 * Math.max(1, expected), `χ²(${p}, ${df})`);
    const fromTwoRuns = sigmaInterval(1, 1);
    close(fromTwoRuns.low, 0.4461, 1e-4, "σ from 2 runs, lower");
    close(fromTwoRuns.high, 31.91, 0.01, "σ from 2 runs, upper");
    const fromMany = sigmaInterval(1, 200);
    assert.ok(fromMany.high / fromMany.low < 1.25, "200 degrees of freedom pin σ down");
  });

  it("refuse impossible arguments with a message naming them", () => {
    assert.throws(() => studentTQuantile(1, 3), /strictly between 0 and 1 is needed \(got 1\)/);
    assert.throws(() => studentTQuantile(0.9, 0), /degrees of freedom must be > 0 \(got 0\)/);
  });
});

describe("intervals", () => {
  it("a t interval from few runs covers the true mean at its nominal rate", () => {
    // 4000 intervals of 3 normal draws: the count that misses is Binomial(4000, 0.05), sd ≈ 13.8;
    // allow 4 sd either side. A z interval (1.96 instead of 4.30) would miss about 20% of the time.
    const random = createRandom(7);
    const trials = 4000;
    let missed = 0;
    for (let trial = 0; trial < trials; trial += 1) {
      const interval = meanInterval([random.normal(), random.normal(), random.normal()].map((value) => 10 + 2 * value));
      if (interval.low > 10 || interval.high < 10) missed += 1;
    }
    const expected = trials * 0.05;
    const sd = Math.sqrt(trials * 0.05 * 0.95);
    assert.ok(Math.abs(missed - expected) <= 4 * sd, `${missed} of ${trials} intervals missed; expected ${expected} ± ${4 * sd}`);
  });

  it("a difference with a pooled σ uses it; without one, the samples' own spread", () => {
    const pooled = differenceInterval([3, 3], [1, 1, 1, 1], { sigma: 1, degreesOfFreedom: 10 });
    close(pooled.estimate, 2, 1e-12, "difference");
    close(pooled.standardError, Math.sqrt(1 / 2 + 1 / 4), 1e-12, "standard error");
    close(pooled.high - pooled.estimate, studentTQuantile(0.975, 10) * Math.sqrt(0.75), 1e-9, "half width");
    const welch = differenceInterval([1, 2, 3], [2, 4, 6]);
    close(welch.estimate, -2, 1e-12, "Welch difference");
    close(welch.degreesOfFreedom, 2.9411764706, 1e-6, "Welch–Satterthwaite degrees of freedom");
    const unknown = differenceInterval([1], [2]);
    assert.equal(unknown.low, Number.NEGATIVE_INFINITY);
    assert.equal(unknown.high, Number.POSITIVE_INFINITY);
  });

  it("a proportion's Wilson interval is sound at zero and in the middle", () => {
    const none = proportionInterval(0, 10);
    close(none.low, 0, 1e-12, "0 of 10, lower");
    close(none.high, 0.2775, 1e-4, "0 of 10, upper");
    const half = proportionInterval(50, 100);
    close(half.low, 0.4038, 1e-4, "50 of 100, lower");
    close(half.high, 0.5962, 1e-4, "50 of 100, upper");
    assert.throws(() => proportionInterval(3, 2), /0 <= successes <= trials/);
  });
});

describe("seeded random", () => {
  it("is reproducible, and its normals and heavy tails have unit variance", () => {
    assert.deepEqual([createRandom(1).next(), createRandom(1).next()], [createRandom(1).next(), createRandom(1).next()]);
    for (const draw of [(r: Random) => r.normal(), (r: Random) => r.heavyTailed(5)]) {
      const random = createRandom(11);
      const n = 20000;
      const values = Array.from({ length: n }, () => draw(random));
      const average = values.reduce((sum, value) => sum + value, 0) / n;
      const variance = values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (n - 1);
      close(average, 0, 4 / Math.sqrt(n), "mean");
      // Heavy tails make the variance's own spread large (kurtosis 9 for t5): a generous 10%.
      close(variance, 1, 0.1, "variance");
    }
  });
});
