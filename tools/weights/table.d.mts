/** The fields of @resnet/zoo's WeightsEntry that the table shows. */
interface TableEntry {
  arch: string;
  name: string;
  isDefault: boolean;
  url: string;
  transforms: { resizeSize: number; cropSize: number };
  meta: { acc1: number; acc5: number; numParams: number; gflops: number; fileSizeMB: number };
}

export declare function weightsTable(entries: readonly TableEntry[]): string[];
