/** What can go wrong with one request, as the emulator injects it. */
export type FaultKind = "500" | "502" | "503" | "504" | "429" | "drop_before" | "drop_after" | "slow";

export const FAULT_KINDS: readonly FaultKind[] = ["500", "502", "503", "504", "429", "drop_before", "drop_after", "slow"];

/**
 * Seeded choice of faults, so a failing run can be replayed with the same --seed.
 * mulberry32: small, fast, and good enough to spread faults evenly.
 */
export class FaultPlan {
  #state: number;
  rate: number;
  kinds: readonly FaultKind[];

  constructor(rate: number, seed: number, kinds: readonly FaultKind[] = FAULT_KINDS) {
    this.rate = rate;
    this.#state = seed >>> 0;
    this.kinds = kinds;
  }

  /** The fault for the next request, or undefined for a normal answer. */
  next(): FaultKind | undefined {
    if (this.rate <= 0 || this.kinds.length === 0) return undefined;
    if (this.#random() >= this.rate) return undefined;
    return this.kinds[Math.floor(this.#random() * this.kinds.length)];
  }

  #random(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
