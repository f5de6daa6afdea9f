export { auditSet } from './audit-data';
export { detectTheater, judgeTheater, type DetectTheaterArgs } from './detect';
export { gatherEvidence, type AuditEvaluation, type LoadedModel, type TheaterEvidence } from './evidence';
export type { IndicatorCheck, IndicatorReport } from './indicator';
export { DEFAULT_THEATER_TOLERANCES, theaterTolerances, type TheaterTolerances } from './tolerances';
