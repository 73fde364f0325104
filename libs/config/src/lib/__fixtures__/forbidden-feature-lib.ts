// Lint fixture: an infrastructure lib (type:infra) importing a service feature lib (type:feature).
import { ScanWorkerModule } from '@berth/svc-scan-worker';

export const forbidden = ScanWorkerModule;
