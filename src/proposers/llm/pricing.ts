// Estimated cost of a call: a small table of list prices (US dollars per million tokens), matched
// by model-id prefix, overridable in the config (proposer.pricing) for anything else.

export interface Pricing {
  inputPerMillion: number;
  outputPerMillion: number;
}

export interface TokenCount {
  inputTokens: number;
  outputTokens: number;
}

// Public list prices as of late 2025, standard tier, no caching discounts. An estimate, not a bill.
const PRICES: Record<string, Pricing> = {
  "claude-opus-4-5": { inputPerMillion: 5, outputPerMillion: 25 },
  "claude-opus-4": { inputPerMillion: 15, outputPerMillion: 75 },
  "claude-sonnet-4": { inputPerMillion: 3, outputPerMillion: 15 },
  "claude-3-7-sonnet": { inputPerMillion: 3, outputPerMillion: 15 },
  "claude-3-5-sonnet": { inputPerMillion: 3, outputPerMillion: 15 },
  "claude-haiku-4-5": { inputPerMillion: 1, outputPerMillion: 5 },
  "claude-3-5-haiku": { inputPerMillion: 0.8, outputPerMillion: 4 },
  "claude-3-haiku": { inputPerMillion: 0.25, outputPerMillion: 1.25 },
  "gpt-5-nano": { inputPerMillion: 0.05, outputPerMillion: 0.4 },
  "gpt-5-mini": { inputPerMillion: 0.25, outputPerMillion: 2 },
  "gpt-5": { inputPerMillion: 1.25, outputPerMillion: 10 },
  "gpt-4.1-nano": { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  "gpt-4.1-mini": { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  "gpt-4.1": { inputPerMillion: 2, outputPerMillion: 8 },
  "gpt-4o-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  "gpt-4o": { inputPerMillion: 2.5, outputPerMillion: 10 },
  "o4-mini": { inputPerMillion: 1.1, outputPerMillion: 4.4 },
  "o3-mini": { inputPerMillion: 1.1, outputPerMillion: 4.4 },
  "o3": { inputPerMillion: 2, outputPerMillion: 8 },
};

// Longest prefix first, so "gpt-4o-mini-2024-07-18" is priced as gpt-4o-mini, not gpt-4o.
const PREFIXES = Object.keys(PRICES).sort((a, b) => b.length - a.length);

/** The price of a model id; router prefixes like "anthropic/" or "openai/" are ignored. */
export function priceOf(model: string, override?: Pricing): Pricing | null {
  if (override) return override;
  const id = model.toLowerCase().replace(/^[a-z0-9-]+\//, "");
  const prefix = PREFIXES.find((key) => id.startsWith(key));
  return prefix ? PRICES[prefix]! : null;
}

/** Dollars, or null when the model's price is unknown (say, a local model without proposer.pricing). */
export function estimateCost(usage: TokenCount, price: Pricing | null): number | null {
  if (!price) return null;
  return (usage.inputTokens * price.inputPerMillion + usage.outputTokens * price.outputPerMillion) / 1_000_000;
}
