/** The path of dist/<name> under root when it exists and is newer than every source file, else undefined. */
export function freshBundle(root: string, name: string): string | undefined;
