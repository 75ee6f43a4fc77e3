// The gradcheck helper now lives in native/engine/gradcheck.ts (doctor runs it too); re-exported for the tests.
export { gradcheck, values, type GradCase } from '../../../../native/engine/gradcheck';
