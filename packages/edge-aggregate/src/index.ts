// READ packages/edge-aggregate/LEAD-NOTES.md FIRST.
export const VERSION = '0.1.0';
