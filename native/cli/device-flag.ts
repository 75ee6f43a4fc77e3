// One reading of --device for the commands that take it directly (generate, compose; train checks it with its other
// settings in native/train/config.ts, by the same isDeviceChoice): `--device gpu` was read as a CUDA request and
// reported as "CUDA was requested (--device gpu) but cannot be used", or "GPU NaN does not exist" where CUDA works.
import { isDeviceChoice, type DeviceChoice } from '../protocol';
import { UserError } from '../util/errors';

/** The device a --device value names; a UserError naming the flag and the value otherwise. */
export function parseDeviceFlag(value: string): DeviceChoice {
  if (!isDeviceChoice(value)) throw new UserError(`--device must be auto, cpu, cuda or cuda:N, got "${value}"`, { fix: 'pass --device auto (CUDA when usable, else the CPU)' });
  return value;
}
