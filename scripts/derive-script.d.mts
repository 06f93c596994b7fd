export function buildDeriveScript(root: string, outfile: string): Promise<void>;
