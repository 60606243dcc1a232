/** @20minutes/s3rver ships no types; the tests use this much of it. */
declare module '@20minutes/s3rver' {
  export default class S3rver {
    constructor(opts: { address?: string; port?: number; silent?: boolean; directory: string; configureBuckets?: Array<{ name: string }> });
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
