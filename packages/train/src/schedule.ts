import { ArgumentError, nonNegativeInt, numberInRange, positiveInt } from '@resnet/core';

/** A learning rate as a function of the step (an epoch or an iteration: the caller decides). */
export type LrSchedule = (step: number) => number;

function positiveLr(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ArgumentError(argument, 'a positive finite learning rate', value);
  }
  return value;
}

function checkStep(step: number): number {
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
    throw new ArgumentError('step', 'an integer >= 0', step);
  return step;
}

/** The same rate at every step. */
export function constantLr(lr: number): LrSchedule {
  const base = positiveLr('lr', lr);
  return (step) => {
    checkStep(step);
    return base;
  };
}

/** torch's `StepLR`: `lr · gamma^⌊step / stepSize⌋`. */
export function stepLr(options: { lr: number; stepSize: number; gamma?: number }): LrSchedule {
  const base = positiveLr('options.lr', options.lr);
  const size = positiveInt('options.stepSize', options.stepSize);
  const gamma = numberInRange('options.gamma', options.gamma ?? 0.1, 0, 1);
  return (step) => base * gamma ** Math.floor(checkStep(step) / size);
}

/**
 * torch's `CosineAnnealingLR` (closed form): `minLr + (lr − minLr)·(1 + cos(π·step/totalSteps))/2`,
 * held at `minLr` after `totalSteps`.
 */
export function cosineLr(options: { lr: number; totalSteps: number; minLr?: number }): LrSchedule {
  const base = positiveLr('options.lr', options.lr);
  const total = positiveInt('options.totalSteps', options.totalSteps);
  const min = numberInRange('options.minLr', options.minLr ?? 0, 0, base);
  return (step) => {
    const t = Math.min(checkStep(step), total);
    return min + ((base - min) * (1 + Math.cos((Math.PI * t) / total))) / 2;
  };
}

/**
 * Linear warm-up in front of `schedule`: the rate is multiplied by a factor rising linearly from
 * `startFactor` at step 0 to 1 at `warmupSteps` (torch's `LinearLR`, chained with the schedule as
 * `ChainedScheduler` does).
 */
export function withWarmup(schedule: LrSchedule, options: { warmupSteps: number; startFactor?: number }): LrSchedule {
  if (typeof schedule !== 'function') throw new ArgumentError('schedule', 'an LrSchedule function', schedule);
  const warm = nonNegativeInt('options.warmupSteps', options.warmupSteps);
  const start = numberInRange('options.startFactor', options.startFactor ?? 1 / 3, 1e-8, 1);
  return (step) => {
    const t = checkStep(step);
    const factor = warm === 0 || t >= warm ? 1 : start + ((1 - start) * t) / warm;
    return schedule(t) * factor;
  };
}
