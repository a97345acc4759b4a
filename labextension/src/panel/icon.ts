/** The termmux icon (launcher tile, panel tab, settings). */
import { LabIcon } from '@jupyterlab/ui-components';

import iconSvg from '../../style/icon.svg';

export const termmuxIcon = new LabIcon({
  name: 'jupyter-termmux:icon',
  svgstr: iconSvg
});
