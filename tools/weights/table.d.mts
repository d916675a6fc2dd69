/** The fields of @resnet/zoo's WeightsEntry that the table shows. */
interface TableEntry {
  arch: string;
  name: string;
  isDefault: boolean;
  source: 'torchvision' | 'resnet';
  url: string | null;
  transforms: { resizeSize: number; cropSize: number; channels?: 1 | 3 };
  meta: { dataset: string; acc1: number; acc5: number; numParams: number; gflops: number; fileSizeMB: number };
}

export declare function weightsTable(entries: readonly TableEntry[]): string[];
