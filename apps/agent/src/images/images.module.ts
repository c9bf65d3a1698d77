import { Module } from '@nestjs/common';
import { ImagesController } from './images.controller';
import { ImagesService } from './images.service';

/** ImageBlobs, PushImage: images pushed from a workstation without a registry (SPEC §13). */
@Module({
  controllers: [ImagesController],
  providers: [ImagesService],
})
export class ImagesModule {}
