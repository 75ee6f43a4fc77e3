// The engine's methods at run time (native/protocol.ts METHOD_NAMES, the MethodName union as a value, which train's
// --method choices and validation read too). compare-methods and the extension's Compare Methods… list them from
// here, so a method the engine gains is offered without an edit. Engine-free: the extension host reads it.
import { METHOD_NAMES } from '../protocol';

export function engineMethods(): string[] {
  return [...METHOD_NAMES];
}
