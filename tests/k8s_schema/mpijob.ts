// kubeflow.org/v2beta1 MPIJob as the MPI Operator v0.8.x CRD
// (mpijobs.kubeflow.org, openAPIV3Schema) defines it, written as TypeScript
// so that tsc rejects every field the CRD does not have. The pod templates
// are core/v1 PodTemplateSpecs, checked against kubernetes-models' types.
// Enumerations are those the operator accepts (its CRD enum for
// mpiImplementation, its validation for the others). Integer-ness, which
// TypeScript cannot express, is checked at run time by validate.mjs.
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import type { IIoK8sApimachineryPkgApisMetaV1ObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";

export interface IMPIJob {
  apiVersion: "kubeflow.org/v2beta1";
  kind: "MPIJob";
  metadata?: IIoK8sApimachineryPkgApisMetaV1ObjectMeta;
  spec?: IMPIJobSpec;
  status?: IJobStatus;
}

export interface IMPIJobSpec {
  launcherCreationPolicy?: "AtStartup" | "WaitForWorkersReady";
  mpiImplementation?: "OpenMPI" | "Intel" | "MPICH";
  mpiReplicaSpecs: { Launcher?: IReplicaSpec; Worker?: IReplicaSpec };
  runLauncherAsWorker?: boolean;
  runPolicy?: IRunPolicy;
  slotsPerWorker?: number; // int32
  sshAuthMountPath?: string;
}

export interface IReplicaSpec {
  replicas?: number; // int32
  restartPolicy?: "Never" | "OnFailure";
  template?: IPodTemplateSpec;
}

export interface IRunPolicy {
  activeDeadlineSeconds?: number; // int64
  backoffLimit?: number; // int32
  cleanPodPolicy?: "None" | "Running" | "All";
  managedBy?: "kubeflow.org/mpi-operator" | "kueue.x-k8s.io/multikueue";
  schedulingPolicy?: ISchedulingPolicy;
  suspend?: boolean;
  ttlSecondsAfterFinished?: number; // int32
}

export interface ISchedulingPolicy {
  minAvailable?: number; // int32
  minResources?: { [resource: string]: number | string }; // quantities
  priorityClass?: string;
  queue?: string;
  scheduleTimeoutSeconds?: number; // int32
}

export interface IJobStatus {
  completionTime?: string;
  conditions?: Array<{
    lastTransitionTime?: string;
    lastUpdateTime?: string;
    message?: string;
    reason?: string;
    status: "True" | "False" | "Unknown";
    type: string;
  }>;
  lastReconcileTime?: string;
  replicaStatuses?: {
    [replica: string]: {
      active?: number;
      failed?: number;
      labelSelector?: {
        matchExpressions?: Array<{ key: string; operator: string; values?: Array<string> }>;
        matchLabels?: { [key: string]: string };
      };
      selector?: string;
      succeeded?: number;
    };
  };
  startTime?: string;
}
