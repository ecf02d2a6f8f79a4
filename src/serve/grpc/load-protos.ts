import { existsSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The directory of the vendored TF Serving protos (`protos/` at the package root), found from
 * this file whether it runs from src/ under tsx or from the build in dist/.
 */
export function protosDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'protos');
    if (existsSync(path.join(candidate, 'tensorflow_serving'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`agp serve: no protos/ directory above ${__dirname}`);
    dir = parent;
  }
}

/** TF Serving's PredictionService and ModelService definitions, as grpc-js serves them. */
export interface TfServingServices {
  predictionService: grpc.ServiceDefinition;
  modelService: grpc.ServiceDefinition;
}

/** Loads the services from the vendored protos (field names as in the protos, longs as text). */
export function loadTfServingServices(): TfServingServices {
  const definition = protoLoader.loadSync(
    [
      'tensorflow_serving/apis/prediction_service.proto',
      'tensorflow_serving/apis/model_service.proto',
    ],
    {
      includeDirs: [protosDir()],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
    },
  );
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    tensorflow: {
      serving: {
        PredictionService: { service: grpc.ServiceDefinition };
        ModelService: { service: grpc.ServiceDefinition };
      };
    };
  };
  return {
    predictionService: loaded.tensorflow.serving.PredictionService.service,
    modelService: loaded.tensorflow.serving.ModelService.service,
  };
}
